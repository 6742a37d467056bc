//! How every part of the sandbox takes its lock.
//!
//! A panic while a lock was held (a test failing mid-call) cannot leave a
//! test double half changed in a way that matters, so poison is ignored
//! instead of failing every later call of the same sandbox.
//!
//! A leaf module, so each provider can use it without importing the others.

use std::sync::{Mutex, MutexGuard};

/// The lock, taken even if a holder panicked.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
