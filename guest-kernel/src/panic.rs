//! Kernel panics: print where, then end the VM with the panic status.

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    crate::println!("\nKERNEL PANIC: {}", info);
    crate::vmexit::panic_exit()
}
