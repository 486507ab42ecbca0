/*
 * dirtygen guest code: 32-bit protected mode, flat segments, no paging,
 * no stack, interrupts off.  The VMM copies the bytes between
 * dg_guest_start and dg_guest_end to GPA DG_CODE_GPA (slot 0, not logged)
 * and starts each vCPU at one of the entry points below, with the
 * parameters in registers (KVM_SET_REGS):
 *
 *   sequential (dg_seq_entry)           random / hot (dg_rnd_entry)
 *   EBX  GPA of the vCPU's first page   EBX  GPA of the vCPU's first page
 *   EDX  EBX + pages * 4096 (end)       ESP  pages to choose from
 *   EDI  address to write next (EBX)    ESI  LCG state (seed)
 *   EBP  batch (pages per `out`)        EBP  batch
 *   ECX  pages left in this batch (EBP) ECX  pages left in this batch (EBP)
 *
 * Every page write is the single instruction at dg_*_write; the loops are
 * kept short because some KVM hosts (kvm_pvm) emulate this guest
 * instruction by instruction.  From RIP and ECX after the vCPU stopped the
 * VMM knows exactly how many writes of the current batch retired:
 *   EBP - ECX, plus 1 while RIP is in [dg_*_after_write, dg_*_dec] (write
 *   done, ECX not yet decremented); at dg_*_out ECX is 0 and the batch is
 *   complete (counted by the VMM once the `out` exits); at dg_*_after_out
 *   the batch was counted.
 */
	.section .rodata.dirtygen_guest, "a"
	.code32

	.globl dg_guest_start
dg_guest_start:

/* sequential: EDI = EBX, EBX+4096, ..., EDX-4096, EBX, ... */
	.globl dg_seq_entry
dg_seq_entry:
	.globl dg_seq_write
dg_seq_write:
	movl	%edi, (%edi)
	.globl dg_seq_after_write
dg_seq_after_write:
	addl	$4096, %edi
	cmpl	%edx, %edi
	jb	1f
	movl	%ebx, %edi
1:
	.globl dg_seq_dec
dg_seq_dec:
	decl	%ecx
	jnz	dg_seq_write
	.globl dg_seq_out
dg_seq_out:
	outb	%al, $0x10
	.globl dg_seq_after_out
dg_seq_after_out:
	movl	%ebp, %ecx
	jmp	dg_seq_write

/* random / hot: ESI = ESI * 1103515245 + 12345 (mod 2^32, full period);
 * page = (ESI * ESP) >> 32, i.e. the high bits scaled to [0, ESP). */
	.globl dg_rnd_entry
dg_rnd_entry:
	imull	$1103515245, %esi, %esi
	addl	$12345, %esi
	movl	%esi, %eax
	mull	%esp
	shll	$12, %edx
	.globl dg_rnd_write
dg_rnd_write:
	movl	%esi, (%ebx,%edx)
	.globl dg_rnd_after_write
dg_rnd_after_write:
	.globl dg_rnd_dec
dg_rnd_dec:
	decl	%ecx
	jnz	dg_rnd_entry
	.globl dg_rnd_out
dg_rnd_out:
	outb	%al, $0x10
	.globl dg_rnd_after_out
dg_rnd_after_out:
	movl	%ebp, %ecx
	jmp	dg_rnd_entry

/* idle vCPU: halt forever (without an in-kernel irqchip every hlt exits
 * to the VMM, which then simply does not run this vCPU again). */
	.globl dg_idle_entry
dg_idle_entry:
4:	hlt
	jmp	4b

	.globl dg_guest_end
dg_guest_end:
	.code64

	.section .note.GNU-stack, "", @progbits
