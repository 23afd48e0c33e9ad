module github.com/xiaoyi-disputes/disputes/proto

go 1.26.0
