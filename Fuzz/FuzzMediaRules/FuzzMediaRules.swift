import FuzzTargets

// Built with -DFUZZING and -sanitize=fuzzer (mount-scripts/fuzz.sh), this is a libFuzzer target.
// In an ordinary build it is a tool that runs the target over the files it is given.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>, _ count: Int) -> Int32 {
    FuzzTargets.mediaRules(Array(UnsafeBufferPointer(start: data, count: count)))
    return 0
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

// SwiftPM links an executable's entry point under this name; hand control to libFuzzer.
@_cdecl("FuzzMediaRules_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
}
#else
import Foundation

@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            FuzzTargets.mediaRules(Array(FileManager.default.contents(atPath: path) ?? Data()))
        }
    }
}
#endif
