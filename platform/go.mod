module github.com/xiaoyi-disputes/disputes/platform

go 1.26.0
