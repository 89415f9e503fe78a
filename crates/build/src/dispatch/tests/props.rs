//! Arbitrary ENV/LABEL/ARG keys and values never make dispatch panic; whatever it accepts
//! it records.

use proptest::prelude::*;

use super::util::*;
use crate::dispatch::StageState;

fn state(given: &[(String, Option<String>)]) -> StageState {
    let args = crate::dispatch::BuildArgs {
        values: given.iter().cloned().collect(),
    };
    StageState::new(Some(&busybox()), &Default::default(), &args, '\\')
}

proptest! {
    #[test]
    fn env_label_arg_never_panic(
        key in "\\PC{0,12}",
        value in "\\PC{0,24}",
        given in proptest::collection::vec(("[A-Za-z_]{1,4}", proptest::option::of("\\PC{0,8}")), 0..4),
    ) {
        let mut st = state(&given);
        let _ = st.dispatch(&arg(&[(key.as_str(), Some(value.as_str()))]));
        let _ = st.dispatch(&arg(&[(key.as_str(), None)]));
        if st.dispatch(&env(&[(key.as_str(), value.as_str())])).is_ok() {
            prop_assert!(st.config.env.as_ref().is_some_and(|e| !e.is_empty()));
        }
        if st.dispatch(&label(&[(key.as_str(), value.as_str())])).is_ok() {
            prop_assert!(st.config.labels.as_ref().is_some_and(|l| !l.is_empty()));
        }
        let _ = st.dispatch(&run(&value));
        let _ = st.dispatch(&workdir(&value));
        let _ = st.dispatch(&expose(&[value.as_str()]));
        let _ = st.dispatch(&stopsignal(&value));
        let _ = st.dispatch(&user(&value));
        let _ = st.dispatch(&volume(&[value.as_str()]));
        let _ = st.dispatch(&health(sh("x"), [Some(value.as_str()), None, None, Some(key.as_str())]));
        let _ = st.dispatch(&run_mounts(sh("x"), &[value.as_str()]));
        let _ = st.unused();
    }
}
