# Shared by the benchmarks (source it from the package root): the release build they all time, as $i2,
# and the .venv Python of the peers and generators, as $py. I2_SCRATCH: swift build scratch path.
scratch=${I2_SCRATCH:-.build}
swift build -c release --static-swift-stdlib --scratch-path "$scratch" >/dev/null
i2=$PWD/$scratch/release/i2
py=$PWD/.venv/bin/python3
