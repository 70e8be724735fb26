//! One module per kind, each implementing the engine's `CloudResource` trait.
pub mod lite_server;
pub mod notebook;
pub mod resource_pool;
