module github.com/xiaoyi-disputes/disputes/archive

go 1.26.0
