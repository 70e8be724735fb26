use clap::Parser;

/// jemalloc returns a burst's freed pages within about a second (`dirty_decay_ms`, purged by its
/// background thread) instead of keeping them per thread like glibc; two arenas suffice for the
/// runtime's two workers and keep fewer half-empty pages. Measured in benches/README ("jemalloc in
/// both binaries"). The environment variable `_RJEM_MALLOC_CONF` overrides these at start.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol at its first allocation (`malloc_conf`, with the
/// crate's `_rjem_` prefix); a NUL-terminated C string.
#[allow(unsafe_code)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static MALLOC_CONF: &[u8; 70] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2\0";

fn main() -> std::process::ExitCode {
    modelarts_operator::cli::Cli::parse().dispatch()
}
