#!/bin/bash
# Runs one example program on small generated data and checks its results.
#
#   run_example_test.sh copy     PROGRAM   # async_file_copy / coro_file_copy
#   run_example_test.sh checksum PROGRAM   # file_checksum
#
# Exits non-zero with a message naming the failed check.
set -u

mode=$1
program=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/asio_uring_example_XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_status STATUS CMD...: runs CMD, checks its exit status.
expect_status() {
  local want=$1
  shift
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [ "$got" -ne "$want" ]; then
    cat "$work/out" "$work/err" >&2
    fail "'$*' exited $got, expected $want"
  fi
}

case $mode in
copy)
  # Several block sizes' worth plus a partial block, one partial block,
  # and an empty file.
  for size in 3145851 1000 0; do
    head -c "$size" /dev/urandom >"$work/src_$size"
    expect_status 0 "$program" "$work/src_$size" "$work/dst_$size"
    cmp "$work/src_$size" "$work/dst_$size" || fail "copy of $size bytes differs"
    grep -q "copied $size bytes" "$work/out" || fail "no byte count for $size bytes"
  done
  # The destination is truncated, not merged.
  head -c 5000000 /dev/urandom >"$work/big"
  head -c 4096 /dev/urandom >"$work/small"
  cp "$work/big" "$work/dst_over"
  expect_status 0 "$program" "$work/small" "$work/dst_over"
  cmp "$work/small" "$work/dst_over" || fail "destination not truncated"
  # Errors: a missing source, a destination in a missing directory, a
  # directory as the source, bad usage. Each is a message, never a crash.
  expect_status 1 "$program" "$work/missing" "$work/dst_missing"
  grep -qi "no such file" "$work/err" || fail "missing source not reported"
  expect_status 1 "$program" "$work/small" "$work/no/such/dir/dst"
  expect_status 1 "$program" "$work" "$work/dst_dir"
  grep -qi "is a directory" "$work/err" || fail "directory source not reported"
  expect_status 2 "$program" "$work/small"
  ;;
checksum)
  # Generates the file, then checksums it through both paths.
  expect_status 0 "$program" --size 3 --block 4 --file "$work/gen.bin"
  [ "$(stat -c %s "$work/gen.bin")" -eq $((3 << 20)) ] || fail "generated size"
  grep -q "checksums match" "$work/out" || fail "no match line"
  grep -q "asio_uring " "$work/out" || fail "no asio_uring line"
  grep -q "thread pool" "$work/out" || fail "no thread pool line"
  grep -q "/ thread pool: " "$work/out" || fail "no ratio line"
  # An existing file whose size is not a multiple of the block, and the
  # checksum the program prints must be the bytes' sum.
  head -c 1000003 /dev/urandom >"$work/odd.bin"
  expect_status 0 "$program" --block 32 --file "$work/odd.bin"
  want=$(od -An -v -tu1 "$work/odd.bin" | awk '{for (i = 1; i <= NF; i++) s += $i} END {printf "0x%016x", s}')
  grep -q "asio_uring  .* $want\$" "$work/out" || fail "checksum is not $want"
  # An empty file.
  : >"$work/empty.bin"
  expect_status 0 "$program" --file "$work/empty.bin"
  # Errors: unreadable path, bad numbers, unknown option.
  expect_status 1 "$program" --file "$work/no/such/dir/x.bin" --size 1
  expect_status 1 "$program" --file "$work"
  expect_status 2 "$program" --size abc
  expect_status 2 "$program" --block 0
  expect_status 2 "$program" --bogus 1
  expect_status 2 "$program" --size
  ;;
*)
  fail "unknown mode $mode"
  ;;
esac
echo "ok: $mode $(basename "$program")"
