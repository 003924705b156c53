#!/bin/bash
# Scan the test VM's kernel log for problems: oopses, BUGs, WARNs, panics,
# soft lockups, RCU stalls, hung tasks, stray stack traces.
#
#   console-scan.sh --console CONSOLE_LOG [--dmesg DMESG_LOG]
#
# Which log: the dmesg dump that the VM writes at the end of a run holds
# exactly the VM kernel's messages (its buffer is big enough for a whole run,
# see log_buf_len in vm-run.sh), while the console also carries user-space
# output, such as the console of a guest that a test boots, whose kernel lines
# look the same. So the dump is scanned when there is one, and each finding is
# then located on the console for its line number and context. Without a dump
# (the VM crashed, hung or timed out) the console is scanned.
#
# Only kernel messages are considered: text that follows a printk timestamp
# "[ seconds.micros] ", so a test printing "WARNING:" on its own is not a
# kernel problem. On the console the timestamp may appear mid-line, since
# kernel and user-space output interleave there. A "Call Trace:" is reported
# on its own only if no problem line shortly precedes it (a bare
# dump_stack(), an allocation failure, ...).
#
# Prints "VM CONSOLE: kernel problem at FILE:LINE: TEXT" (or "VM DMESG: ..."
# for what the console does not show) with context for the first few, and
# exits 1 if anything was found, 0 otherwise.
set -euo pipefail

console=
dmesg=
while [ $# -gt 0 ]; do
	case "$1" in
	--console) console=$2; shift 2 ;;
	--dmesg) dmesg=$2; shift 2 ;;
	*) echo "usage: $0 --console LOG [--dmesg LOG]" >&2; exit 2 ;;
	esac
done
[ -n "$console" ] || { echo "usage: $0 --console LOG [--dmesg LOG]" >&2; exit 2; }
[ -f "$console" ] || console=/dev/null

if [ -n "$dmesg" ] && [ -s "$dmesg" ]; then
	scanned=$dmesg
else
	scanned=$console
fi

# Findings as "LINE<TAB>MESSAGE", MESSAGE from the timestamp on.
findings=$(awk '
BEGIN {
	stamp = "\\[ *[0-9]+\\.[0-9]+\\] *"
	problem = "(WARNING:|BUG[: ]|Oops|kernel BUG at|general protection fault" \
		"|Kernel panic|watchdog: BUG: soft lockup" \
		"|watchdog: Watchdog detected hard LOCKUP" \
		"|rcu: INFO: rcu_[a-z_]+ (self-)?detected (expedited )?stall" \
		"|INFO: task .* blocked for more than" \
		"|invalid opcode:|stack segment:|double fault" \
		"|UBSAN:|list_(add|del) corruption|Unable to handle kernel" \
		"|kernel tried to execute NX|unchecked MSR access error)"
	trace = "Call Trace:"
	trace_window = 40 # lines after a problem line in which a trace belongs to it
	last_problem = -1000
}
{
	sub(/\r$/, "")
	if (!match($0, stamp "(" problem "|" trace ")"))
		next
	msg = substr($0, RSTART)
	is_trace = (msg ~ "^" stamp trace)
	if (is_trace && FNR - last_problem <= trace_window)
		next
	if (!is_trace)
		last_problem = FNR
	if (!(msg in seen))
		print FNR "\t" msg
	seen[msg] = 1
}' "$scanned")
[ -n "$findings" ] || exit 0

max_context=3 # findings shown with context
max_listed=50 # findings listed at all
context_before=3
context_after=20
n=0
shown_file=
shown_to=0
while IFS=$'\t' read -r line msg; do
	n=$((n + 1))
	if [ "$n" -gt "$max_listed" ]; then
		echo "... and $(($(wc -l <<<"$findings") - max_listed)) more kernel problem lines"
		break
	fi
	file=$scanned
	label="VM DMESG"
	if [ "$scanned" = "$console" ]; then
		label="VM CONSOLE"
	elif at=$(grep -nF -m1 -- "$msg" "$console" | cut -d: -f1) && [ -n "$at" ]; then
		file=$console
		label="VM CONSOLE"
		line=$at
	fi
	echo "$label: kernel problem at $file:$line: $(sed -n "${line}p" "$file" | tr -d '\r')"
	[ "$n" -le "$max_context" ] || continue
	# Not again what the previous context already showed.
	[ "$file" != "$shown_file" ] || [ "$line" -gt "$shown_to" ] || continue
	from=$((line > context_before ? line - context_before : 1))
	shown_file=$file
	shown_to=$((line + context_after))
	sed -n "${from},${shown_to}p" "$file" | tr -d '\r' |
		awk -v mark=$((line - from + 1)) '{ printf "    %s%s\n", (NR == mark ? "> " : "  "), $0 }'
done <<<"$findings"
exit 1
