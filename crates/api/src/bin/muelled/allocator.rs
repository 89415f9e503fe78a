//! muelled's allocator: mimalloc, and the one call that hands its free memory back to the
//! system. The only unsafe code of the daemon: two foreign calls into mimalloc that take no
//! pointers.
//!
//! mimalloc returns freed memory to the system only when a later allocation or collection
//! finds its purge delay (1 s) expired. An idle daemon makes neither, so after a push the
//! pages its compression threads and upload buffers freed stayed resident (idle RSS 2.5x
//! the fresh one after 9 pushes). Each thread of the blocking pool therefore collects when
//! it retires (after 1 s idle): it purges what every thread freed, without waiting.

/// glibc's malloc kept the freed memory of its per-thread arenas (idle RSS 56–91 MB after
/// pushes); mimalloc costs no start latency and gives memory back (see above).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Frees the calling thread's cached pages and purges every free page of all threads now,
/// whatever its purge delay. Milliseconds at most: for a retiring thread, never per request.
pub fn release_free_memory() {
    // SAFETY: mi_collect takes no pointers and only walks mimalloc's own structures (the
    // calling thread's heap and the shared arenas, under their locks); any thread may call
    // it at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
