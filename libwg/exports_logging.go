package main

import "C"

//export wgDisableLogging
func wgDisableLogging() { disableLogSinks() }
