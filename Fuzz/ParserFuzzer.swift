// Compiled together with Sources/SkepHTTP/*.swift by Fuzz/run, so it needs no import.

/// libFuzzer's entry point: every input is a request head (and maybe a chunked body);
/// `ParserFuzzing.check` traps when the parser's answer depends on how the bytes were
/// split or a range falls outside the bytes it consumed.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    ParserFuzzing.check(UnsafeRawBufferPointer(start: data, count: size))
    ParserFuzzing.check(UnsafeRawBufferPointer(start: data, count: size),
                        limits: HTTPLimits(requestLine: 64, requestFieldSize: 64, requestFields: 4))
    return 0
}
