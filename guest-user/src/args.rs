//! The program's arguments, read from the initial stack the kernel built:
//! `[rsp] = argc`, then `argc` pointers to NUL-terminated strings, then 0.

#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// # Safety
    /// `sp` must be the initial stack pointer the kernel gave `_start`.
    pub unsafe fn from_stack(sp: *const u64) -> Args {
        // SAFETY: the caller passes the initial stack, laid out as above.
        unsafe {
            Args {
                argc: *sp as usize,
                argv: sp.add(1) as *const *const u8,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.argc
    }

    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` (0 is the program name), if it is there and UTF-8.
    pub fn get(&self, i: usize) -> Option<&'static str> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: i < argc, and the kernel wrote argc valid pointers to
        // NUL-terminated strings that live as long as the process.
        unsafe {
            let p = *self.argv.add(i);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            core::str::from_utf8(core::slice::from_raw_parts(p, n)).ok()
        }
    }

    /// Argument `i` as a number.
    pub fn number(&self, i: usize) -> Option<u64> {
        self.get(i)?.parse().ok()
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.argc).filter_map(|i| self.get(i))
    }
}
