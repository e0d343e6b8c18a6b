// What the CLI sees of the layers below: I2Core plus the pure model types (volumes, errors, SEG
// metadata). The CLI imports only I2Core; I2DICOM and I2NIfTI stay behind it.
@_exported import I2Model
