//! Loading a user program: a static x86-64 ELF executable from a boot
//! module into a fresh address space, plus a stack with argc/argv.
//!
//! The module came from the VMM, which checked it, but the kernel trusts no
//! one: every segment is checked again to lie in the user half, inside the
//! file, without overflow, before a byte is copied.

use elf::abi::{EM_X86_64, ET_EXEC, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;
use elf::ElfBytes;
use lde_abi::layout::{PAGE_SIZE, USER_MIN, USER_STACK_GUARD, USER_STACK_PAGES, USER_STACK_TOP};
use lde_abi::program::{self, LoadError};

use crate::paging::{self, AddressSpace, WRITABLE};

/// Most entries of argv (the name and lde-abi's `MAX_ARGS` arguments).
const MAX_ARGV: usize = lde_abi::boot::MAX_ARGS + 1;

pub struct Loaded {
    pub space: AddressSpace,
    pub entry: u64,
    /// Initial user stack pointer (pointing at argc).
    pub rsp: u64,
}

/// Load `image` (a boot module at physical address `image_phys`, page
/// aligned) and build its stack with `argv`. On error the address space is
/// freed and the reason returned.
#[inline(always)]
pub fn load(image: &[u8], image_phys: u64, argv: &[&[u8]]) -> Result<Loaded, &'static str> {
    let mut space = AddressSpace::new().ok_or("out of memory")?;
    match load_into(&mut space, image, image_phys, argv) {
        Ok((entry, rsp)) => Ok(Loaded { space, entry, rsp }),
        Err(e) => {
            space.free();
            Err(e)
        }
    }
}

fn load_into(
    space: &mut AddressSpace,
    image: &[u8],
    image_phys: u64,
    argv: &[&[u8]],
) -> Result<(u64, u64), &'static str> {
    let file = ElfBytes::<LittleEndian>::minimal_parse(image).map_err(|_| "not an ELF file")?;
    let ehdr = file.ehdr;
    if ehdr.class != Class::ELF64 || ehdr.e_machine != EM_X86_64 || ehdr.e_type != ET_EXEC {
        return Err("not a static x86-64 executable");
    }
    let segments = file.segments().ok_or("no program headers")?;
    // The loader's limits first, before a page is mapped or a header past
    // the limit is read (lde-abi `program`, the VMM's check before boot).
    let loads = || segments.iter().filter(|p| p.p_type == PT_LOAD);
    program::footprint(segments.len(), || loads().map(|p| (p.p_vaddr, p.p_memsz)))
        .and_then(program::Footprint::within_limits)
        .map_err(LoadError::reason)?;
    let stack_bottom = USER_STACK_GUARD;
    let mut entry_ok = false;
    for ph in loads() {
        let end = ph
            .p_vaddr
            .checked_add(ph.p_memsz)
            .ok_or("segment wraps around")?;
        let file_end = ph
            .p_offset
            .checked_add(ph.p_filesz)
            .ok_or("segment wraps around")?;
        if ph.p_vaddr < USER_MIN || end > stack_bottom {
            return Err("segment outside the user half");
        }
        if file_end > image.len() as u64 || ph.p_filesz > ph.p_memsz {
            return Err("segment outside the file");
        }
        let mut flags = 0;
        if ph.p_flags & PF_W != 0 {
            flags |= WRITABLE;
        }
        if ph.p_flags & PF_X == 0 {
            flags |= paging::nx_bit();
        } else {
            entry_ok |= ehdr.e_entry >= ph.p_vaddr && ehdr.e_entry < end;
        }
        let first = ph.p_vaddr & !(PAGE_SIZE - 1);
        // Read-only segments laid out page for page in the file are mapped
        // straight onto the module (no copy); the rest is copied.
        let shareable = flags & WRITABLE == 0
            && ph.p_filesz == ph.p_memsz
            && ph.p_offset % PAGE_SIZE == ph.p_vaddr % PAGE_SIZE
            && image_phys % PAGE_SIZE == 0;
        if shareable
            && map_from_module(
                space,
                first,
                end,
                image_phys + ph.p_offset - (ph.p_vaddr - first),
                flags,
            )
        {
            continue;
        }
        let mut page = first;
        while page < end {
            space.map(page, flags).ok_or("out of memory")?;
            page += PAGE_SIZE;
        }
        let data = &image[ph.p_offset as usize..file_end as usize];
        space.write(ph.p_vaddr, data).ok_or("cannot copy segment")?;
    }
    if !entry_ok {
        return Err("entry point not in an executable segment");
    }
    let rsp = build_stack(space, argv)?;
    Ok((ehdr.e_entry, rsp))
}

/// Map `[first, end)` onto the module's frames from `frame` on; false if a
/// page is taken already (the caller then copies instead).
fn map_from_module(
    space: &mut AddressSpace,
    first: u64,
    end: u64,
    mut frame: u64,
    flags: u64,
) -> bool {
    let mut page = first;
    while page < end {
        if space.map_borrowed(page, frame, flags).is_none() {
            return false;
        }
        page += PAGE_SIZE;
        frame += PAGE_SIZE;
    }
    true
}

/// Map the stack and lay out, from the top down: the argument strings, then
/// (16-byte aligned) argc, argv[0..argc], NULL, envp NULL — System V style.
fn build_stack(space: &mut AddressSpace, argv: &[&[u8]]) -> Result<u64, &'static str> {
    let data = WRITABLE | paging::nx_bit();
    // Upwards, so that the stack is one mapped range (paging.rs), as the
    // loader limits count it (lde-abi `program`).
    for i in (1..=USER_STACK_PAGES).rev() {
        space
            .map(USER_STACK_TOP - i * PAGE_SIZE, data)
            .ok_or("out of memory")?;
    }
    let argc = argv.len().min(MAX_ARGV);
    let mut sp = USER_STACK_TOP;
    let mut ptrs = [0u64; MAX_ARGV];
    for (i, arg) in argv[..argc].iter().enumerate() {
        sp -= arg.len() as u64 + 1;
        space.write(sp, arg).ok_or("stack")?;
        space.write(sp + arg.len() as u64, &[0]).ok_or("stack")?;
        ptrs[i] = sp;
    }
    // argc + argv pointers + NULL + envp NULL, then align so RSP % 16 == 0.
    let words = 1 + argc as u64 + 2;
    sp = (sp - words * 8) & !15;
    let mut at = sp;
    let mut put = |v: u64| -> Result<(), &'static str> {
        space.write(at, &v.to_le_bytes()).ok_or("stack")?;
        at += 8;
        Ok(())
    };
    put(argc as u64)?;
    for p in &ptrs[..argc] {
        put(*p)?;
    }
    put(0)?;
    put(0)?;
    Ok(sp)
}
