// What the CLI sees of the layers below: I2Core plus the pure model types (volumes, errors, SEG
// metadata), and the I2DICOM values an engine's options carry as they are (receive's SCP settings, TLS).
// The CLI imports only I2Core; I2DICOM and I2NIfTI stay behind it.
@_exported import I2Model
@_exported import struct I2DICOM.StoreSCPConfig
@_exported import struct I2DICOM.TLSOptions
