//! Gives freed heap back to the system. glibc keeps what a burst freed in its per-thread arenas
//! (the scale bench saw RSS 40–75 MiB above the live heap at 10,000 notebooks); `malloc_trim`
//! releases the free pages of every arena. Elsewhere than glibc this is a no-op. The operator
//! binary allocates with jemalloc (src/main.rs), which returns memory itself, so there this trims
//! only what C code took from glibc; the trim still serves the library run in-process on glibc
//! (the scale bench's `--in-process`, the tests).
use std::time::Duration;

/// How often the heap is trimmed: a trim costs a walk of the arenas (milliseconds), and bursts
/// and polls free memory on the scale of seconds.
pub const TRIM_INTERVAL: Duration = Duration::from_secs(10);

/// Releases free heap pages to the system now. Returns whether any memory was released.
#[allow(unsafe_code)]
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists; it takes the arena
        // locks itself and is safe to call from any thread at any time.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Trims the heap every [`TRIM_INTERVAL`] for as long as the runtime lives.
pub fn spawn_trimmer() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut every = tokio::time::interval(TRIM_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            // Off the async workers: a trim of a large heap can take a few milliseconds.
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    })
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Resident pages of this process, from /proc/self/statm.
    fn resident_bytes() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
        let pages: u64 = statm
            .split_whitespace()
            .nth(1)
            .expect("rss")
            .parse()
            .expect("pages");
        pages * 4096
    }

    #[test]
    fn memory_freed_in_a_thread_arena_goes_back_to_the_system_when_trimmed() {
        // 64 MiB of small blocks (below the mmap threshold) in a thread of their own, freed
        // under one live block that keeps the heap from shrinking: resident until trimmed.
        let (resident, top) = std::thread::spawn(|| {
            let blocks: Vec<Vec<u8>> = (0..64 * 1024).map(|i| vec![i as u8; 1024]).collect();
            let top = vec![1u8; 1024];
            drop(std::hint::black_box(blocks));
            (resident_bytes(), top)
        })
        .join()
        .expect("thread");
        assert!(trim(), "the trim released memory");
        let after = resident_bytes();
        assert!(
            after + 32 * 1024 * 1024 < resident,
            "64 MiB freed: resident {resident} before the trim, {after} after"
        );
        drop(top);
    }
}
