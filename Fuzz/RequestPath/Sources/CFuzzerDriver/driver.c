// The fuzzer's entry point. SwiftPM links an executable target with `main` defined as
// `<module>_main` (so that tests can link the module); with `-parse-as-library` the
// Swift module has none, so it is this, which runs libFuzzer's own driver (libFuzzer's
// `main` does the same) over the Swift harness's LLVMFuzzerTestOneInput.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int RequestPathFuzzer_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
