//! Work spread over every core: files are searched independently, and which
//! thread takes which is decided as they go (a large file does not hold back
//! the small ones behind it).

use super::Result;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many items a thread takes at a time: few enough to balance, enough that
/// taking them costs nothing.
const CHUNK: usize = 16;

/// `work` applied to every item, on all cores; the `Some` results in the items'
/// order. The first error stops the other threads and is returned.
pub fn filter_map<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> Result<Option<R>> + Sync,
) -> Result<Vec<R>> {
    let threads =
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().div_ceil(CHUNK));
    if threads <= 1 {
        return items.iter().filter_map(|item| work(item).transpose()).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = || -> Result<Vec<(usize, R)>> {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= items.len() {
                break;
            }
            for (i, item) in items.iter().enumerate().skip(start).take(CHUNK) {
                match work(item) {
                    Ok(Some(result)) => done.push((i, result)),
                    Ok(None) => {}
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
        Ok(done)
    };
    let outcomes: Vec<Result<Vec<(usize, R)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(run)).collect();
        handles.into_iter().map(|h| h.join().expect("a search thread panicked")).collect()
    });
    let mut all = Vec::new();
    for outcome in outcomes {
        all.extend(outcome?);
    }
    all.sort_unstable_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, result)| result).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn results_keep_the_items_order_and_errors_stop_the_work() {
        let items: Vec<u32> = (0..1000).collect();
        let evens = filter_map(&items, |n| Ok((n % 2 == 0).then_some(n * 10))).unwrap();
        assert_eq!(evens, (0..1000).filter(|n| n % 2 == 0).map(|n| n * 10).collect::<Vec<_>>());
        let failing =
            filter_map(&items, |n| if *n == 500 { Err(Error::Pattern("x".into())) } else { Ok(Some(*n)) });
        assert!(matches!(failing, Err(Error::Pattern(_))));
    }
}
