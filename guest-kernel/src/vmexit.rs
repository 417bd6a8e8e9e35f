//! Ending the VM through the VMM's exit device.

use lde_abi::exit::{encode, KIND_EXIT, KIND_PANIC};
use lde_abi::ports::EXIT;
use x86_64::instructions::port::Port;

/// End the VM; `status` becomes `lde`'s exit status.
pub fn exit(status: u8) -> ! {
    write(encode(KIND_EXIT, status))
}

/// End the VM because the kernel panicked.
pub fn panic_exit() -> ! {
    write(encode(KIND_PANIC, 0))
}

fn write(value: u32) -> ! {
    crate::console::flush();
    crate::trace::flush();
    // SAFETY: the exit device only ends the VM; no memory is involved.
    unsafe { Port::<u32>::new(EXIT).write(value) };
    // The VMM never resumes us after that write; if it does, stop here.
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
