//! Process wiring: controllers, the health and metrics server, credentials and configuration.
pub mod controller;
pub mod server;
