/*
 * A tiny multiboot guest for QEMU tests: QEMU's -kernel loads it in 32-bit
 * protected mode; it dirties guest memory in a loop and never returns.
 * It writes one word to every page in [DIRTY_START, DIRTY_END) and starts
 * over, pausing PAUSE iterations between pages to keep the rate moderate
 * (PAUSE can be set when assembling: as --defsym PAUSE=N).
 */
	.set MB_MAGIC, 0x1BADB002
	.set MB_FLAGS, 0
	.set DIRTY_START, 0x00400000	/* 4 MiB, above the image */
	.set DIRTY_END,   0x04000000	/* 64 MiB: the guest gets at least this much */
	.ifndef PAUSE			/* as --defsym PAUSE=N: another rate */
	.set PAUSE, 2000
	.endif

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	cli
1:	mov $DIRTY_START, %edi
2:	incl (%edi)
	mov $PAUSE, %ecx
3:	dec %ecx
	jnz 3b
	add $4096, %edi
	cmp $DIRTY_END, %edi
	jb 2b
	jmp 1b
