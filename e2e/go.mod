module github.com/xiaoyi-disputes/disputes/e2e

go 1.26.0
