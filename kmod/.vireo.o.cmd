cmd_/work/main/kmod/vireo.o := ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/kmod/vireo.o @/work/main/kmod/vireo.mod 
