//! Calls write and clock with bad pointers, an unknown call and a bad fd; checks each error code.
//!
//! The kernel must check every pointer a process hands it before it uses
//! it: inside the user half, mapped, user-accessible, writable when the
//! kernel writes through it, over the whole length. A bad one must come
//! back as -EFAULT (-14), never as a kernel fault or a write into kernel
//! memory. Also: an unknown call number is -ENOSYS (-38), even one whose
//! low 32 bits name a real call, and an fd other than 1 or 2 is -EBADF (-9). A zero-length write
//! of a valid pointer is 0.
//!
//! One line per check (`badptr: write(null) = -14 ok`, or `... FAIL
//! (expected -14)`), then a summary; exit 0 if all passed, else 1.
#![no_std]
#![no_main]

use core::ptr;
use lde_abi::layout::{DIRECT_MAP, KERNEL_PHYS, KERNEL_VIRT, USER_STACK_TOP};
use lde_abi::syscall::{errno, Clock, GETPID};
use ulib::sys::{self, clock_raw, syscall3, write_raw};
use ulib::{println, usage, Args};

const NAME: &str = "badptr";
const MSG: &[u8] = b"hello";

/// Read-only data (immutable and not zero, so it lands in .rodata, not
/// .bss): the kernel must refuse to write the clock into it.
static READ_ONLY: [u64; 4] = [1, 2, 3, 4];

struct Checks {
    run: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, what: &str, got: i64, expected: i64) {
        self.run += 1;
        if got == expected {
            println!("{NAME}: {what} = {got} ok");
        } else {
            self.failed += 1;
            println!("{NAME}: {what} = {got} FAIL (expected {expected})");
        }
    }
}

#[no_mangle]
fn main(args: Args) -> i32 {
    if args.len() > 1 {
        return usage(NAME);
    }
    let efault = -errno::EFAULT;
    let kernel_text = KERNEL_VIRT + KERNEL_PHYS;
    let kernel_data = DIRECT_MAP + KERNEL_PHYS;
    let valid = MSG.as_ptr() as u64;
    let len = MSG.len() as u64;
    // The last 3 bytes of the stack's top page: the range runs on into the
    // unmapped page at USER_STACK_TOP.
    let page_end = USER_STACK_TOP - 3;
    let mut c = Checks { run: 0, failed: 0 };

    c.check("write(null)", write_raw(1, 0, len), efault);
    c.check("write(kernel text)", write_raw(1, kernel_text, len), efault);
    c.check(
        "write(kernel direct map)",
        write_raw(1, kernel_data, len),
        efault,
    );
    c.check(
        "write(unmapped user page)",
        write_raw(1, 0x7000_0000_0000, len),
        efault,
    );
    c.check(
        "write(non-canonical)",
        write_raw(1, 0x8000_0000_0000, len),
        efault,
    );
    c.check(
        "write(len usize::MAX)",
        write_raw(1, valid, u64::MAX),
        efault,
    );
    c.check(
        "write(len past the user half)",
        write_raw(1, valid, 0x8000_0000_0000 - valid + 1),
        efault,
    );
    c.check(
        "write(across into an unmapped page)",
        write_raw(1, page_end, 8),
        efault,
    );

    c.check("clock(null)", clock_raw(0), efault);
    c.check("clock(kernel text)", clock_raw(kernel_text), efault);
    c.check("clock(kernel direct map)", clock_raw(kernel_data), efault);
    let ro = READ_ONLY.as_ptr() as u64;
    c.check("clock(read-only .rodata)", clock_raw(ro), efault);
    // SAFETY: READ_ONLY is a valid static; a volatile read sees what is in
    // memory even if the compiler thinks it knows the value.
    let intact = (0..4).all(|i| unsafe { ptr::read_volatile(&READ_ONLY[i]) } == i as u64 + 1);
    c.check(
        "clock(read-only .rodata) left it intact (1 = yes)",
        intact as i64,
        1,
    );
    let clock_size = core::mem::size_of::<Clock>() as u64;
    c.check(
        "clock(across into an unmapped page)",
        clock_raw(USER_STACK_TOP - clock_size / 2),
        efault,
    );

    c.check("syscall 4242", syscall3(4242, 0, 0, 0), -errno::ENOSYS);
    c.check(
        "syscall u64::MAX",
        syscall3(u64::MAX, 0, 0, 0),
        -errno::ENOSYS,
    );
    c.check(
        "syscall (1 << 32) | getpid",
        syscall3(1 << 32 | GETPID, 0, 0, 0),
        -errno::ENOSYS,
    );
    c.check("write(fd 7)", write_raw(7, valid, len), -errno::EBADF);
    c.check("write(valid, len 0)", sys::write(1, &MSG[..0]), 0);

    let passed = c.run - c.failed;
    println!("{NAME}: {passed}/{} checks passed", c.run);
    (c.failed != 0) as i32
}
