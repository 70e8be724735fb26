//! modelarts emulator: filled in by its own issue.
