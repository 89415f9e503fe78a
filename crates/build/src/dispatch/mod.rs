//! Per-instruction evolution of a stage (to be written).
