# Fails on purpose: its log and exit code appear in the table, the JUnit file and tests/03-fails.log.
echo "checking the answer"
echo "expected 43, got 42" >&2
exit 3
