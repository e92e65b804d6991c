import Foundation

/// The two ways a fuzz executable runs: under libFuzzer (built with -DFUZZING and
/// -sanitize=fuzzer) or, in an ordinary build, replaying the files named on its command line.
public enum FuzzDriver {
    public typealias Target = @convention(c) (UnsafePointer<UInt8>, Int) -> Int32

    #if FUZZING
    @_silgen_name("LLVMFuzzerRunDriver")
    private static func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: Target
    ) -> Int32

    /// Hands control to libFuzzer with `target` as the test function.
    public static func run(
        _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ target: Target
    ) -> Int32 {
        var count = argc
        var arguments = argv
        return runFuzzerDriver(&count, &arguments, target)
    }
    #endif

    /// Runs `target` over every file named on the command line.
    public static func replay(_ target: ([UInt8]) -> Void) {
        for path in CommandLine.arguments.dropFirst() {
            target(Array(FileManager.default.contents(atPath: path) ?? Data()))
        }
    }
}
