VolumeCtl.main()
