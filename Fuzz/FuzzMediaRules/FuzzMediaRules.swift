import FuzzTargets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    FuzzTargets.mediaRules(Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

#if FUZZING
// SwiftPM links an executable's entry point under this name.
@_cdecl("FuzzMediaRules_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    FuzzDriver.run(argc, argv, fuzzTestOneInput)
}
#else
@main
struct Replay {
    static func main() { FuzzDriver.replay(FuzzTargets.mediaRules) }
}
#endif
