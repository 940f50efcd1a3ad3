//! Fleet tests: the real `maand` binary against a local sshd fleet.
