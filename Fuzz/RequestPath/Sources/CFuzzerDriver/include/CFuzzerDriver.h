#ifndef C_FUZZER_DRIVER_H
#define C_FUZZER_DRIVER_H
// Nothing for Swift to call: this target only supplies the executable's entry point.
#endif
