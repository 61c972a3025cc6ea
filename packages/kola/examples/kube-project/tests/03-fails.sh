# Fails on purpose: its log and exit code appear in the table, the JUnit file and tests/03-fails.log.
# Both lines go to stderr: a pod log interleaves stdout and stderr in no fixed order, and the reason is the last line.
echo "checking the answer" >&2
echo "expected 43, got 42" >&2
exit 3
