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

    /// Argument `i` as a number (see [`parse_u64`]).
    pub fn number(&self, i: usize) -> Option<u64> {
        parse_u64(self.get(i)?)
    }

    /// Argument `i` as a number, `default` when it is absent; `None` when it
    /// is there but not a number (the caller prints its usage).
    pub fn number_or(&self, i: usize, default: u64) -> Option<u64> {
        if i >= self.argc {
            return Some(default);
        }
        self.number(i)
    }

    /// Which of `choices` argument `i` names: 0 (the first, the default)
    /// when it is absent, `None` when it names none of them.
    pub fn choice(&self, i: usize, choices: &[&str]) -> Option<usize> {
        if i >= self.argc {
            return Some(0);
        }
        let arg = self.get(i)?;
        choices.iter().position(|c| *c == arg)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + Clone + '_ {
        (0..self.argc).filter_map(|i| self.get(i))
    }
}

/// Parse a number: decimal, or hexadecimal after `0x`; `_` may separate
/// digits. `None` for anything else (empty, a sign, overflow).
pub fn parse_u64(s: &str) -> Option<u64> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    let mut n: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix)? as u64;
        n = n.checked_mul(radix as u64)?.checked_add(d)?;
        any = true;
    }
    any.then_some(n)
}
