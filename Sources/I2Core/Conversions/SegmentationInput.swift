// A DICOM-SEG given to `i2 convert` is not an image series: say so and name the command that reads it,
// instead of failing on its pixel format (BitsAllocated 1) or stacking its frames as slices.
import I2DICOM
import I2Model

enum SegmentationInput {
    static let segmentationStorage = "1.2.840.10008.5.1.4.1.1.66.4"
    static let labelMapSegmentationStorage = "1.2.840.10008.5.1.4.1.1.66.7"

    /// The error for a segmentation file, nil for anything else.
    static func refusal(_ f: DicomFile) -> I2Error? {
        let sopClass = f.string(.sopClassUID) ?? ""
        let kind: String
        switch sopClass {
        case segmentationStorage: kind = "a DICOM segmentation (Segmentation Storage, SOP Class \(sopClass))"
        case labelMapSegmentationStorage: kind = "a DICOM label-map segmentation (Label Map Segmentation Storage, SOP Class \(sopClass))"
        default: return nil
        }
        return I2Error(.badInput, path: f.path, "\(kind), not an image series: use 'i2 seg2nifti \(f.path) -o labels.nii.gz' to convert it")
    }
}
