// SPDX-License-Identifier: GPL-2.0

//! `KVec` operations the 6.12 kernel crate does not have yet.

use kernel::alloc::Allocator;

/// `pop`, `truncate` and `clear` for the kernel's `Vec`.
pub(crate) trait VecExt<T> {
    /// Removes and returns the last element.
    fn pop(&mut self) -> Option<T>;
    /// Drops the elements from `len` on.
    fn truncate(&mut self, len: usize);
    /// Drops every element.
    fn clear(&mut self) {
        self.truncate(0);
    }
}

impl<T, A: Allocator> VecExt<T> for kernel::alloc::Vec<T, A> {
    fn pop(&mut self) -> Option<T> {
        let n = self.len().checked_sub(1)?;
        // SAFETY: element `n` is initialised; shrinking the length first hands its ownership to
        // the `read`, so it is neither dropped twice nor read twice.
        unsafe {
            self.set_len(n);
            Some(self.as_ptr().add(n).read())
        }
    }

    fn truncate(&mut self, len: usize) {
        while self.len() > len {
            drop(self.pop());
        }
    }
}
