//! kube emulator: filled in by its own issue.
