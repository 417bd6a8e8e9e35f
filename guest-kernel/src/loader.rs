//! Loading a user program: a static x86-64 ELF executable from a boot
//! module into a fresh address space, plus a stack with argc/argv.
//!
//! The module came from the VMM, which checked it, but the kernel trusts no
//! one: every segment is checked again to lie in the user half, inside the
//! file, without overflow, before a byte is copied.

use core::mem::MaybeUninit;
use core::ptr::addr_of;

use elf::abi::{EI_CLASS, EI_DATA, EI_VERSION, ELFCLASS64, ELFDATA2LSB, ELFMAGIC, EM_X86_64};
use elf::abi::{ET_EXEC, EV_CURRENT, PF_W, PF_X, PT_LOAD};
use elf::file::Elf64_Ehdr;
use elf::segment::Elf64_Phdr;
use lde_abi::layout::{PAGE_SIZE, USER_MIN, USER_STACK_GUARD, USER_STACK_PAGES, USER_STACK_TOP};
use lde_abi::program::{self, LoadError};

use crate::boot::phys_to_virt;
use crate::paging::{self, AddressSpace, WRITABLE};

/// Most entries of argv (the name and lde-abi's `MAX_ARGS` arguments).
const MAX_ARGV: usize = lde_abi::boot::MAX_ARGS + 1;

/// What the loader uses of one `PT_LOAD` program header.
#[derive(Clone, Copy)]
struct Segment {
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    flags: u32,
}

/// Load `image` (a boot module at physical address `image_phys`, page
/// aligned) into the fresh address space `space` and build its stack with
/// `argv`; returns the entry point and the initial user stack pointer
/// (pointing at argc). On error the caller frees `space`. The space is
/// filled where it lies, not returned: it is a kilobyte, and every move of
/// it is a copy.
pub fn load(
    space: &mut AddressSpace,
    image: &[u8],
    image_phys: u64,
    argv: &[&[u8]],
) -> Result<(u64, u64), &'static str> {
    let ehdr = file_header(image)?;
    let count = ehdr.e_phnum as usize;
    // The loader's limits first, before a page is mapped or a header past
    // the limit is read (lde-abi `program`, the VMM's check before boot).
    if count > program::MAX_PROGRAM_HEADERS {
        return Err(LoadError::TooManyHeaders(count).reason());
    }
    // Each header is read once, in place, as the ELF crate's C layout of
    // it (the crate's own parser takes ~75 emulated instructions a header
    // on PVM hosts, this ~10), and its PT_LOAD ones kept here.
    if ehdr.e_phentsize as usize != core::mem::size_of::<Elf64_Phdr>() {
        return Err("unexpected program header size");
    }
    let table = (ehdr.e_phoff as usize)
        .checked_add(count * core::mem::size_of::<Elf64_Phdr>())
        .and_then(|end| image.get(ehdr.e_phoff as usize..end))
        .ok_or("program headers outside the file")?;
    let table = table.as_ptr() as *const Elf64_Phdr;
    // Uninitialised: zeroing 30 entries would cost 150 stores.
    let mut segs = [const { MaybeUninit::<Segment>::uninit() }; program::MAX_LOAD_SEGMENTS];
    let mut nsegs = 0;
    for i in 0..count {
        let ph = table.wrapping_add(i);
        // SAFETY: `table` holds `count` headers of `Elf64_Phdr`'s size
        // (checked above), read unaligned field by field; the file is
        // little-endian (`file_header` checked), as is the CPU.
        let p_type = unsafe { addr_of!((*ph).p_type).read_unaligned() };
        if p_type != PT_LOAD {
            continue;
        }
        if nsegs == segs.len() {
            return Err(LoadError::TooManySegments(nsegs + 1).reason());
        }
        // SAFETY: as for `p_type`.
        let seg = unsafe {
            Segment {
                offset: addr_of!((*ph).p_offset).read_unaligned(),
                vaddr: addr_of!((*ph).p_vaddr).read_unaligned(),
                filesz: addr_of!((*ph).p_filesz).read_unaligned(),
                memsz: addr_of!((*ph).p_memsz).read_unaligned(),
                flags: addr_of!((*ph).p_flags).read_unaligned(),
            }
        };
        segs[nsegs].write(seg);
        nsegs += 1;
    }
    // SAFETY: the first `nsegs` entries were written just above, and
    // `MaybeUninit<Segment>` has the layout of `Segment`.
    let segs = unsafe { &*(&segs[..nsegs] as *const [MaybeUninit<Segment>] as *const [Segment]) };
    program::footprint(count, segs.iter().map(|s| (s.vaddr, s.memsz)))
        .and_then(program::Footprint::within_limits)
        .map_err(LoadError::reason)?;
    let stack_bottom = USER_STACK_GUARD;
    let mut entry_ok = false;
    for ph in segs {
        let end = ph
            .vaddr
            .checked_add(ph.memsz)
            .ok_or("segment wraps around")?;
        let file_end = ph
            .offset
            .checked_add(ph.filesz)
            .ok_or("segment wraps around")?;
        if ph.vaddr < USER_MIN || end > stack_bottom {
            return Err("segment outside the user half");
        }
        if file_end > image.len() as u64 || ph.filesz > ph.memsz {
            return Err("segment outside the file");
        }
        let mut flags = 0;
        if ph.flags & PF_W != 0 {
            flags |= WRITABLE;
        }
        if ph.flags & PF_X == 0 {
            flags |= paging::nx_bit();
        } else {
            entry_ok |= ehdr.e_entry >= ph.vaddr && ehdr.e_entry < end;
        }
        let first = ph.vaddr & !(PAGE_SIZE - 1);
        // `end <= stack_bottom`, so rounding it up cannot overflow.
        let last = end.next_multiple_of(PAGE_SIZE);
        // Read-only segments laid out page for page in the file are mapped
        // straight onto the module (no copy); the rest is copied. A page
        // mapped already (shared with the previous segment) makes it a
        // copy: `map_range` then gives that page a private frame.
        let shareable = flags & WRITABLE == 0
            && ph.filesz == ph.memsz
            && ph.offset % PAGE_SIZE == ph.vaddr % PAGE_SIZE
            && image_phys % PAGE_SIZE == 0;
        if shareable
            && space
                .map_borrowed_range(
                    first,
                    last,
                    image_phys + ph.offset - (ph.vaddr - first),
                    flags,
                )
                .is_some()
        {
            continue;
        }
        space.map_range(first, last, flags).ok_or("out of memory")?;
        let data = &image[ph.offset as usize..file_end as usize];
        space.write(ph.vaddr, data).ok_or("cannot copy segment")?;
    }
    if !entry_ok {
        return Err("entry point not in an executable segment");
    }
    let rsp = build_stack(space, argv)?;
    Ok((ehdr.e_entry, rsp))
}

/// The ELF file header of `image`, read in place as the ELF crate's C
/// layout of it, once checked to be a little-endian 64-bit x86-64
/// executable (what the crate's parser checked, for a tenth of its
/// emulated instructions).
fn file_header(image: &[u8]) -> Result<Elf64_Ehdr, &'static str> {
    if image.len() < core::mem::size_of::<Elf64_Ehdr>() || image[..4] != ELFMAGIC {
        return Err("not an ELF file");
    }
    if image[EI_CLASS] != ELFCLASS64
        || image[EI_DATA] != ELFDATA2LSB
        || image[EI_VERSION] != EV_CURRENT
    {
        return Err("not a 64-bit little-endian ELF file");
    }
    // SAFETY: `image` holds at least one `Elf64_Ehdr` (checked above), a
    // C struct of integers that any bytes are a value of, read unaligned;
    // little-endian, as is the CPU.
    let ehdr = unsafe { (image.as_ptr() as *const Elf64_Ehdr).read_unaligned() };
    if ehdr.e_machine != EM_X86_64 || ehdr.e_type != ET_EXEC {
        return Err("not a static x86-64 executable");
    }
    if ehdr.e_phnum == 0 {
        return Err("no program headers");
    }
    Ok(ehdr)
}

/// The initial stack (strings, pointers, alignment) always fits in its
/// top page, so `build_stack` writes it there through the direct map.
const _: () = assert!(
    (lde_abi::boot::MODULE_NAME_LEN + lde_abi::boot::MODULE_ARGS_LEN + MAX_ARGV) as u64
        + (MAX_ARGV as u64 + 3) * 8
        + 16
        <= PAGE_SIZE
);

/// Map the stack and lay out, from the top down: the argument strings, then
/// (16-byte aligned) argc, argv[0..argc], NULL, envp NULL — System V style.
fn build_stack(space: &mut AddressSpace, argv: &[&[u8]]) -> Result<u64, &'static str> {
    let data = WRITABLE | paging::nx_bit();
    let top_page = USER_STACK_TOP - PAGE_SIZE;
    space
        .map_range(
            USER_STACK_TOP - USER_STACK_PAGES * PAGE_SIZE,
            USER_STACK_TOP,
            data,
        )
        .ok_or("out of memory")?;
    let frame = space.frame_of(top_page).ok_or("stack")?;
    // The kernel's view of the user address `at` in the top page.
    let kernel = |at: u64| (phys_to_virt(frame) + (at - top_page)) as *mut u8;
    // Names and arguments come from fixed fields of the boot info (the
    // assertion above): the strings stay in the top page.
    let argc = argv.len().min(MAX_ARGV);
    let argv = &argv[..argc];
    let len = |arg: &[u8]| arg.len().min(lde_abi::boot::MODULE_ARGS_LEN) as u64;
    let strings: u64 = argv.iter().map(|a| len(a) + 1).sum();
    // argc + argv pointers + NULL + envp NULL below the strings, aligned so
    // that RSP % 16 == 0.
    let words = 1 + argc as u64 + 2;
    let sp = (USER_STACK_TOP - strings - words * 8) & !15;
    let w = kernel(sp) as *mut u64;
    let mut at = USER_STACK_TOP;
    // SAFETY: the strings `[at, at + len]` and the `words` aligned
    // quadwords from `sp` up lie in the top page (see above), a fresh frame
    // of this address space in the direct map.
    unsafe {
        w.write(argc as u64);
        for (i, arg) in argv.iter().enumerate() {
            let n = len(arg);
            at -= n + 1;
            crate::memops::copy(kernel(at), arg.as_ptr(), n as usize);
            kernel(at + n).write(0);
            w.add(1 + i).write(at);
        }
        w.add(1 + argc).write(0);
        w.add(2 + argc).write(0);
    }
    Ok(sp)
}
