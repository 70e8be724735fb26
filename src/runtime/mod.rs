//! Process wiring: controllers, the health and metrics server, credentials and configuration.
pub mod check;
pub mod controller;
pub mod credentials;
#[cfg(feature = "demo")]
pub mod demo;
pub mod leader;
pub mod memory;
pub mod operator;
pub mod run;
pub mod server;
