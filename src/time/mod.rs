//! Timers (interim: replaced by the timing wheel of issue 3).

mod wheel;

pub(crate) use wheel::Wheel;
