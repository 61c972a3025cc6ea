# A script test: kola wraps it into a Job with the settings' image and environment.
echo "greeting expected: $EXPECTED_GREETING"
test "$EXPECTED_GREETING" = "hello from the chart"
