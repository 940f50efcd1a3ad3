//! Hooks integration tests (spec 07): the real `maand` binary with real Python hooks.
