"""The edge node for real hardware: a FLIR Lepton 3.5 (VoSPI or PureThermal UVC) and a
Sensirion SCD41 on a Raspberry Pi class board, publishing over MQTT (paho, mTLS) exactly
what the fleet simulator publishes, configured by its device shadow, buffering to disk
while offline. Device drivers (spidev, OpenCV, sensirion-i2c-scd4x) are imported only when
a real device is opened."""
