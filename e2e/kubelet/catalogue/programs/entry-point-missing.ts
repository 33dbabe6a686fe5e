// Stands in for an image whose entry point is not written yet (argv: image, entry point): says so and exits 1, so
// its pod shows CrashLoopBackOff with that line in `kubectl logs` instead of running something else.
const [image = '(unknown image)', main = '(unknown entry point)'] = process.argv.slice(2);
process.stderr.write(`${image}: its entry point ${main} does not exist in this checkout yet\n`);
process.exitCode = 1;
