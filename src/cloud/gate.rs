//! A hook awaited before every HTTP request: the engine's client-side token bucket plugs in here,
//! so the client itself needs no rate-limiting policy.
use futures::future::BoxFuture;

pub trait RequestGate: Send + Sync {
    /// Resolves when the next request may go out.
    fn acquire(&self) -> BoxFuture<'_, ()>;
}
