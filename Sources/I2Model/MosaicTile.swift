// One tile of a mosaic: a Siemens MOSAIC or a United Imaging (UIH) grid stores a whole volume as one
// 2-D image, its slices laid out left to right, top to bottom. Each tile becomes its own SliceHeader
// (rows/columns are the tile's, position its own), so assembly stacks tiles like ordinary slices;
// this says where the tile lies in the stored image, for the decoder.
public struct MosaicTile: Sendable, Equatable {
    /// 0-based tile number: the slice's place in the volume, in the order the scanner stored them.
    public var index: Int
    /// Tiles in the mosaic (slices of the volume).
    public var count: Int
    /// Tiles per row of the grid.
    public var gridColumns: Int
    /// The stored image's size.
    public var mosaicRows: Int
    public var mosaicColumns: Int
    /// The direction (LPS, ± the slice normal) assembly sorts this mosaic's tiles along: for a Siemens
    /// mosaic the step from tile k to k+1, so the stored tile order is kept whichever way the slices run
    /// (as dcm2niix does); for a UIH grid the plain normal, like ordinary slices.
    public var sliceDirection: Vector3

    public init(index: Int, count: Int, gridColumns: Int, mosaicRows: Int, mosaicColumns: Int, sliceDirection: Vector3) {
        self.index = index; self.count = count; self.gridColumns = gridColumns
        self.mosaicRows = mosaicRows; self.mosaicColumns = mosaicColumns; self.sliceDirection = sliceDirection
    }
}
