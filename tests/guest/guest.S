/*
 * The test guest as QEMU's firmware (-bios): a flat 64 KiB image mapped by QEMU just
 * below 4 GiB, so the CPU starts in it at reset (0xfffffff0). No BIOS to boot (SeaBIOS
 * takes over a minute under nested emulation): it switches to 32-bit protected mode
 * with flat segments and runs the dirtying loop at once.
 *
 * The loop writes one word to each of WS_PAGES pages from WS_START and starts over,
 * pausing PAUSE iterations between pages. Before it, FILL_PAGES pages from WS_START
 * are written once (a migration's first pass then has data to send, not zero pages).
 * Set them when assembling:
 *   as --32 --defsym WS_START=0x100000 --defsym WS_PAGES=1024 --defsym PAUSE=50
 * The guest needs RAM up to WS_START + max(WS_PAGES, FILL_PAGES) * 4096.
 */
	.ifndef WS_START
	.set WS_START, 0x00100000	/* 1 MiB: above the low megabyte's ROM and holes */
	.endif
	.ifndef WS_PAGES
	.set WS_PAGES, 1024		/* 4 MiB */
	.endif
	.ifndef PAUSE
	.set PAUSE, 2000
	.endif
	.ifndef FILL_PAGES
	.set FILL_PAGES, 0
	.endif
	.set BASE, 0xffff0000		/* where QEMU maps a 64 KiB -bios image */
	.set CODE32, 0x08
	.set DATA32, 0x10

	.text
	.code32
	.globl loop
loop:					/* offset 0: the first thing in the image */
	mov $DATA32, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov $WS_START, %edi
	mov $FILL_PAGES, %ebx
0:	test %ebx, %ebx
	jz 1f
	movl $0x5a5a5a5a, (%edi)
	add $4096, %edi
	dec %ebx
	jmp 0b
1:	mov $WS_START, %edi
	mov $WS_PAGES, %ebx
2:	incl (%edi)
	mov $PAUSE, %ecx
3:	dec %ecx
	jnz 3b
	add $4096, %edi
	dec %ebx
	jnz 2b
	jmp 1b

	.align 8
gdt:	.quad 0
	/* accessed bits preset: the CPU would write them, and the GDT is in ROM */
	.quad 0x00cf9b000000ffff	/* CODE32: base 0, limit 4 GiB, execute/read */
	.quad 0x00cf93000000ffff	/* DATA32: base 0, limit 4 GiB, read/write */
gdt_end:
gdtr:	.word gdt_end - gdt - 1
	.long BASE + (gdt - loop)

	.code16
start16:				/* real mode, CS base BASE; offsets from loop: no relocations */
	cli
	lgdtl %cs:(gdtr - loop)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $CODE32, $BASE		/* loop, at offset 0 */

	.org 0xfff0			/* the reset vector: 0xfffffff0 */
	jmp start16
	.org 0x10000, 0
