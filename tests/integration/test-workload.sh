# Integration tests of real workloads: the debian image (Python on a
# read-only image under a tmpfs overlay), --input files in, --output files
# back, the scratch limit, nothing surviving a job, the image's hash in the
# log. Real QEMU microVMs, the loader in a provider namespace, a wireguard-go
# consumer (scripts/lib.sh: omt_provider_up).

IMAGE_DIR=${OMERTA_IMAGE_DIR:-$OMT_ROOT/build/guest}

# The image's hash as the build recorded it.
image_hash() { # FILE
	cut -d' ' -f1 "$IMAGE_DIR/$1.sha256"
}

test_workload_python_input_output() {
	omt_provider_up
	mkdir "$OMT_TMP/in" "$OMT_TMP/outdir"
	seq 1 1000 >"$OMT_TMP/in/numbers.txt"
	head -c 300000 /dev/urandom >"$OMT_TMP/in/blob.bin"
	cat >"$OMT_TMP/job.py" <<-'EOP'
		import hashlib, os, sys
		nums = [int(l) for l in open("/job/input/numbers.txt")]
		os.makedirs("/job/output/deep/er", exist_ok=True)
		with open("/job/output/sum.txt", "w") as f:
		    f.write("%d\n" % sum(nums))
		blob = open("/job/input/blob.bin", "rb").read()
		with open("/job/output/deep/er/blob.copy", "wb") as f:
		    f.write(blob)
		try:
		    open("/job/input/numbers.txt", "a").write("x")
		    print("inputs are writable")
		except OSError as e:
		    print("inputs read-only:", e.strerror)
		import multiprocessing  # needs /dev/shm
		with multiprocessing.Pool(2) as pool:
		    print("squares", sum(pool.map(abs, range(-10, 10))))
		print(sys.version.split()[0])
	EOP
	omt_exec --image debian --language python --script "$OMT_TMP/job.py" \
		--input "$OMT_TMP/in/numbers.txt" --input "$OMT_TMP/in/blob.bin" \
		--output "$OMT_TMP/outdir" || omt_fail "job failed: $(cat "$OMT_TMP/err")"
	grep -q "inputs read-only: Read-only file system" "$OMT_TMP/out" || omt_fail "output: $(cat "$OMT_TMP/out")"
	grep -qE '^3\.11' "$OMT_TMP/out" || omt_fail "not Debian 12's python3: $(cat "$OMT_TMP/out")"
	grep -qx "squares 100" "$OMT_TMP/out" || omt_fail "no multiprocessing: $(cat "$OMT_TMP/out" "$OMT_TMP/err")"
	[ "$(cat "$OMT_TMP/outdir/sum.txt")" = 500500 ] || omt_fail "sum.txt: $(cat "$OMT_TMP/outdir/sum.txt")"
	cmp "$OMT_TMP/in/blob.bin" "$OMT_TMP/outdir/deep/er/blob.copy" || omt_fail "the binary file came back changed"
	grep -q "image debian sha256:$(image_hash debian.sqfs)" "$OMT_TMP/err" || omt_fail "no image hash in the log"
	omt_assert_no_jobs
}

test_workload_minimal_input_output() {
	omt_provider_up
	mkdir "$OMT_TMP/outdir"
	echo "hello input" >"$OMT_TMP/greeting"
	omt_exec --image minimal --input "$OMT_TMP/greeting" --output "$OMT_TMP/outdir" -- \
		sh -c 'tr a-z A-Z </job/input/greeting >/job/output/shout; ln -s /etc/passwd /job/output/link' ||
		omt_fail "job failed: $(cat "$OMT_TMP/err")"
	[ "$(cat "$OMT_TMP/outdir/shout")" = "HELLO INPUT" ] || omt_fail "shout: $(ls -la "$OMT_TMP/outdir")"
	[ ! -e "$OMT_TMP/outdir/link" ] && [ ! -L "$OMT_TMP/outdir/link" ] || omt_fail "a symlink came back"
	grep -q "output .link.: a symlink, not copied" "$OMT_TMP/err" || omt_fail "the skipped symlink was not logged"
	grep -q "image minimal sha256:$(image_hash base.cpio.gz)" "$OMT_TMP/err" || omt_fail "no image hash in the log"
	omt_assert_no_jobs
}

# DIR holds a symlink to a directory outside it: the guest's files for that
# name are refused, nothing lands outside, the job says so.
test_workload_output_refused() {
	omt_provider_up
	mkdir "$OMT_TMP/outdir" "$OMT_TMP/elsewhere"
	ln -s "$OMT_TMP/elsewhere" "$OMT_TMP/outdir/sub"
	local rc=0
	omt_exec --image minimal --output "$OMT_TMP/outdir" -- \
		sh -c 'mkdir -p /job/output/sub; echo pwned >/job/output/sub/evil' || rc=$?
	[ "$rc" = 246 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc, not 246"; }
	[ -z "$(ls -A "$OMT_TMP/elsewhere")" ] || omt_fail "something was written outside DIR"
	grep -q "output refused: .*sub" "$OMT_TMP/err" || omt_fail "no clear error: $(cat "$OMT_TMP/err")"
	omt_assert_no_jobs
}

test_workload_scratch_full() {
	omt_provider_up
	local rc=0
	omt_exec --image debian --scratch 16 -- \
		sh -c 'dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>&1; echo dd-status=$?' || rc=$?
	[ "$rc" = 0 ] || { cat "$OMT_TMP/err" >&2; omt_fail "exit $rc"; }
	grep -q "No space left on device" "$OMT_TMP/out" || omt_fail "no ENOSPC: $(cat "$OMT_TMP/out")"
	grep -q "dd-status=1" "$OMT_TMP/out" || omt_fail "dd did not fail: $(cat "$OMT_TMP/out")"
	grep -q "writable space (--scratch, 16 MiB) is full" "$OMT_TMP/err" || omt_fail "no note: $(cat "$OMT_TMP/err")"
	omt_assert_no_jobs
}

test_workload_nothing_survives() {
	omt_provider_up
	omt_exec --image debian -- sh -c 'echo secret >/etc/left-behind; echo x >/root/also; ls /etc/left-behind' ||
		omt_fail "first job: $(cat "$OMT_TMP/err")"
	grep -qx /etc/left-behind "$OMT_TMP/out" || omt_fail "the first job could not write"
	omt_exec --image debian -- sh -c 'ls /etc/left-behind /root/also 2>&1; true' ||
		omt_fail "second job: $(cat "$OMT_TMP/err")"
	grep -q "No such file" "$OMT_TMP/out" && ! grep -q "^/etc/left-behind$" "$OMT_TMP/out" ||
		omt_fail "a file survived its job: $(cat "$OMT_TMP/out")"
	omt_assert_no_jobs
}

test_workload_bad_input() {
	omt_provider_up
	mkdir "$OMT_TMP/a" "$OMT_TMP/b"
	echo 1 >"$OMT_TMP/a/same"
	echo 2 >"$OMT_TMP/b/same"
	head -c $((65 << 20)) /dev/zero >"$OMT_TMP/big"
	omt_expect_exec 2 "--image must be 'minimal' or 'debian': 'ubuntu'" --vpn-config "$OMT_TMP/vm.conf" --image ubuntu -- true
	omt_expect_exec 2 "--language must be 'sh', 'bash' or 'python': 'perl'" --vpn-config "$OMT_TMP/vm.conf" --language perl --script /dev/null
	omt_expect_exec 2 "--language python needs --image debian" --vpn-config "$OMT_TMP/vm.conf" --image minimal --language python --script /dev/null
	omt_expect_exec 2 "--output must be an existing directory: '$OMT_TMP/nope'" --vpn-config "$OMT_TMP/vm.conf" --output "$OMT_TMP/nope" -- true
	omt_expect_exec 2 "--scratch 200 is more than half of --memory 256" --vpn-config "$OMT_TMP/vm.conf" --scratch 200 -- true
	omt_expect_exec 1 "would both be /job/input/same" --vpn-config "$OMT_TMP/vm.conf" --input "$OMT_TMP/a/same" --input "$OMT_TMP/b/same" -- true
	omt_expect_exec 1 "more than 64 MiB" --vpn-config "$OMT_TMP/vm.conf" --input "$OMT_TMP/big" -- true
	omt_expect_exec 1 "$OMT_TMP/missing" --vpn-config "$OMT_TMP/vm.conf" --input "$OMT_TMP/missing" -- true
	mkdir "$OMT_TMP/noimage"
	cp "$IMAGE_DIR/vmlinuz" "$IMAGE_DIR/base.cpio.gz" "$OMT_TMP/noimage/"
	OMERTA_IMAGE_DIR=$OMT_TMP/noimage omt_expect_exec 1 "image debian: $OMT_TMP/noimage/debian.sqfs: No such file or directory (build it with 'make')" --vpn-config "$OMT_TMP/vm.conf" -- true
	omt_assert_no_jobs
}
