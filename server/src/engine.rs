//! The engine's work off the async workers: reading a body into the engine's types, validating and
//! writing the report run on tokio's blocking threads, at most a fixed number at once, so that a large
//! body keeps neither health checks nor other shops waiting.

use std::num::NonZeroUsize;
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// A bounded pool for engine work: [`EnginePool::run`] takes a permit, waiting while every one is
/// held, then runs the job on a blocking thread, holding the permit until the job ends (even when
/// the request that asked for it has timed out and gone).
#[derive(Clone, Debug)]
pub struct EnginePool {
    permits: Arc<Semaphore>,
    threads: NonZeroUsize,
}

impl EnginePool {
    /// A pool running at most `threads` jobs at once.
    #[must_use]
    pub fn new(threads: NonZeroUsize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads.get())),
            threads,
        }
    }

    /// A pool of one job per CPU the process may use (`std::thread::available_parallelism`, or 1
    /// when it cannot tell).
    #[must_use]
    pub fn per_cpu() -> Self {
        Self::new(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
    }

    /// How many jobs run at most at once.
    #[must_use]
    pub const fn threads(&self) -> NonZeroUsize {
        self.threads
    }

    /// How many more jobs could start now.
    #[must_use]
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Runs `job` on a blocking thread once a permit is free, and answers what it returns.
    ///
    /// # Errors
    /// 500 `internal` when the job panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the engine pool is closed"))?;
        tokio::task::spawn_blocking(move || {
            let answer = job();
            drop(permit);
            answer
        })
        .await
        .map_err(|_| ApiError::internal("an engine task failed"))
    }
}

impl Default for EnginePool {
    fn default() -> Self {
        Self::per_cpu()
    }
}
